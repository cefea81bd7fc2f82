"""Type stubs of the native module; the public API is re-exported by ``stackbill``."""

from typing import Dict, Iterator, List, Optional, Tuple

__version__: str
ACTIONS: List[str]
ROLES: List[str]
GOVERNANCE_SWITCHES: List[str]

class StackBillError(Exception): ...

class InvalidScenario(StackBillError):
    problems: List[Problem]

class MalformedInput(StackBillError):
    line: int
    column: int

class UnreadableInput(StackBillError): ...
class UsageFileError(StackBillError): ...
class AmountOverflow(StackBillError): ...
class ScopeError(StackBillError): ...

class Problem:
    @property
    def path(self) -> str: ...
    @property
    def message(self) -> str: ...
    def __iter__(self) -> Iterator[str]: ...

def rate_json(
    scenario: str,
    is_path: bool = False,
    usage_files: Optional[List[str]] = None,
    usage_lines: Optional[str] = None,
) -> str: ...
def adjustments_json(period: str, now: str, billed: List[Tuple[str, str]]) -> str: ...
def can(
    role_name: str,
    at: Dict[str, Optional[str]],
    action_name: str,
    target: Dict[str, Optional[str]],
    switches: Optional[Dict[str, bool]] = None,
) -> bool: ...
def can_grant(
    role_name: str,
    at: Dict[str, Optional[str]],
    granted: str,
    target: Dict[str, Optional[str]],
    switches: Optional[Dict[str, bool]] = None,
) -> bool: ...
