# StackBill PowerShell module: a thin layer over the tested C# classes of StackBill.dll
# (rating and the RBAC policy run in-process through the native library), plus cmdlets for
# the StackBill REST API that follow the manual's PowerShell client (auth/token, then
# Bearer calls answering {code, data, errors}).
Set-StrictMode -Version Latest

$script:Connection = $null

function Resolve-StackBillPath([System.Management.Automation.PSCmdlet] $Cmdlet, [string] $Path) {
    # .NET resolves relative paths against the process directory, not PowerShell's location.
    if ([string]::IsNullOrEmpty($Path)) { return $null }
    return $Cmdlet.GetUnresolvedProviderPathFromPSPath($Path)
}

function Invoke-StackBillRating {
    <#
    .SYNOPSIS
    Rates a StackBill scenario in-process and returns its invoices, commissions and unbilled usage.

    .DESCRIPTION
    Reads a scenario file (the JSON contract of the StackBill billing semantics), adds the
    usage of an optional CSV or NDJSON file (optionally gzipped), and rates it exactly as
    `stackbill rate` would. The result's money is System.Decimal and its period bounds
    DateTimeOffset; ToJson() returns the output document byte for byte as the CLI prints it.
    Errors are StackBill exceptions: InvalidScenarioException lists every problem in
    .Problems (Path, Message).

    .PARAMETER Scenario
    Path to a scenario file (*.scenario.json).

    .PARAMETER Usage
    Path to a usage file (.csv, .ndjson or .jsonl, optionally .gz), rated after the
    scenario's own usage.

    .EXAMPLE
    $result = Invoke-StackBillRating -Scenario ./october.scenario.json -Usage ./october.csv.gz
    $result.Invoices | Select-Object Tenant, Currency, Total

    .EXAMPLE
    (Invoke-StackBillRating ./northwind.scenario.json).ToJson() | Set-Content out.json

    .OUTPUTS
    StackBill.RatingResult
    #>
    [CmdletBinding()]
    [OutputType([StackBill.RatingResult])]
    param(
        [Parameter(Mandatory, Position = 0)] [string] $Scenario,
        [Parameter(Position = 1)] [string] $Usage
    )
    [StackBill.Engine]::RateFile((Resolve-StackBillPath $PSCmdlet $Scenario), (Resolve-StackBillPath $PSCmdlet $Usage))
}

function Test-StackBillPermission {
    <#
    .SYNOPSIS
    Asks the StackBill authorization policy whether a role may perform an action on a node.

    .DESCRIPTION
    Evaluates the engine's own policy (the one the REST server enforces) in-process. Nodes
    are hashtables naming distributor, partner, tenant and subscription down to their
    level; @{} is the platform. Role and action names are the engine's (tab completion
    offers them); -Governance overrides System Settings switches.

    .PARAMETER Role
    A role name such as PartnerAdministrator ([StackBill.Engine]::Roles lists them).

    .PARAMETER At
    The node the role is granted at.

    .PARAMETER Action
    An action name such as manage_billing ([StackBill.Engine]::Actions lists them).

    .PARAMETER Target
    The node acted on.

    .PARAMETER Governance
    System Settings switches to override, e.g. @{ calculator_tenants = $true }
    ([StackBill.Engine]::GovernanceSwitches lists them).

    .EXAMPLE
    Test-StackBillPermission -Role PartnerAdministrator -At @{ distributor = 'd1'; partner = 'p1' } `
        -Action update -Target @{ distributor = 'd1'; partner = 'p1'; tenant = 't1' }

    .OUTPUTS
    System.Boolean
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param(
        [Parameter(Mandatory)] [string] $Role,
        [hashtable] $At = @{},
        [Parameter(Mandatory)] [string] $Action,
        [hashtable] $Target = @{},
        [hashtable] $Governance
    )
    [StackBill.Engine]::Can($Role, [StackBill.NodeRef]::FromDictionary($At), $Action,
        [StackBill.NodeRef]::FromDictionary($Target), $Governance)
}

# Role, action and switch names complete from the engine's own lists, never a copy.
Register-ArgumentCompleter -CommandName Test-StackBillPermission -ParameterName Role -ScriptBlock {
    param($command, $parameter, $word)
    [StackBill.Engine]::Roles | Where-Object { $_ -like "$word*" }
}
Register-ArgumentCompleter -CommandName Test-StackBillPermission -ParameterName Action -ScriptBlock {
    param($command, $parameter, $word)
    [StackBill.Engine]::Actions | Where-Object { $_ -like "$word*" }
}

function Connect-StackBill {
    <#
    .SYNOPSIS
    Signs in to a StackBill server; later StackBill REST cmdlets use this connection.

    .DESCRIPTION
    Posts the credential to auth/token, as the manual's PowerShell client does, and keeps
    the bearer token for this session. A token restricted to finishing sign-in (a forced
    password change) is refused with the server's restriction.

    .PARAMETER BaseUrl
    The API base, e.g. http://127.0.0.1:8080/api/v1 (a bare server URL gets /api/v1).

    .PARAMETER Credential
    The account's e-mail address and password.

    .PARAMETER MfaCode
    The current TOTP code, when the account has MFA enrolled.

    .EXAMPLE
    Connect-StackBill -BaseUrl http://127.0.0.1:8080/api/v1 -Credential (Get-Credential admin@stackbill.local)
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [string] $BaseUrl,
        [Parameter(Mandatory)] [pscredential] $Credential,
        [string] $MfaCode
    )
    $base = $BaseUrl.TrimEnd('/')
    if ($base -notmatch '/api/v\d+$') { $base = "$base/api/v1" }
    $body = @{ EmailAddress = $Credential.UserName; Password = $Credential.GetNetworkCredential().Password }
    if ($MfaCode) { $body.MfaCode = $MfaCode }
    $token = Invoke-StackBillRequest -Uri "$base/auth/token" -Method Post -Body $body
    if ($token.restriction) {
        throw "StackBill: signed in, but the token only allows '$($token.restriction)'; finish sign-in first."
    }
    $script:Connection = [pscustomobject]@{
        BaseUrl      = $base
        Token        = $token.token
        RefreshToken = $token.refreshToken
        ExpiresAt    = $token.expiresAt
        User         = $Credential.UserName
    }
    [pscustomobject]@{ BaseUrl = $base; User = $Credential.UserName; ExpiresAt = $token.expiresAt }
}

function Disconnect-StackBill {
    <#
    .SYNOPSIS
    Forgets the StackBill connection of this session.
    #>
    [CmdletBinding()]
    param()
    $script:Connection = $null
}

function Invoke-StackBillRequest {
    # One HTTP call; failures surface the envelope's errors ({code, message, field}).
    param([string] $Uri, [string] $Method = 'Get', $Body, [hashtable] $Headers = @{})
    $call = @{ Uri = $Uri; Method = $Method; Headers = $Headers; ContentType = 'application/json' }
    if ($null -ne $Body) { $call.Body = ($Body | ConvertTo-Json -Depth 20 -Compress) }
    try {
        Invoke-RestMethod @call
    } catch {
        $detail = $null
        if ($_.ErrorDetails -and $_.ErrorDetails.Message) {
            try { $detail = $_.ErrorDetails.Message | ConvertFrom-Json } catch { $detail = $null }
        }
        if ($detail -and $detail.PSObject.Properties['errors'] -and $detail.errors) {
            $text = ($detail.errors | ForEach-Object {
                    if ($_.PSObject.Properties['field'] -and $_.field) { "$($_.field): $($_.message)" } else { $_.message }
                }) -join '; '
            throw "StackBill $($detail.code): $text"
        }
        throw
    }
}

function Invoke-StackBillApi {
    # A call with the session's bearer token; returns the envelope's data.
    param([string] $Path, [string] $Method = 'Get', $Body, [hashtable] $Query)
    if (-not $script:Connection) { throw 'StackBill: not connected; run Connect-StackBill first.' }
    $uri = "$($script:Connection.BaseUrl)/$Path"
    if ($Query -and $Query.Count) {
        $pairs = $Query.GetEnumerator() | Where-Object { $null -ne $_.Value } |
            ForEach-Object { [uri]::EscapeDataString($_.Key) + '=' + [uri]::EscapeDataString([string]$_.Value) }
        if ($pairs) { $uri += '?' + ($pairs -join '&') }
    }
    $response = Invoke-StackBillRequest -Uri $uri -Method $Method -Body $Body `
        -Headers @{ Authorization = "Bearer $($script:Connection.Token)" }
    $response.data
}

function Get-StackBillInvoice {
    <#
    .SYNOPSIS
    Lists invoices, or gets one by id, from the StackBill server.

    .PARAMETER Id
    An invoice id; without it, invoices are listed.

    .PARAMETER Period
    Only invoices of this billing period (YYYY-MM).

    .PARAMETER TenantId
    Only this tenant's invoices.

    .PARAMETER Status
    Only invoices in this state (preview, issued, paid, void).

    .EXAMPLE
    Get-StackBillInvoice -Period 2026-10 | Select-Object id, tenantId, total
    #>
    [CmdletBinding(DefaultParameterSetName = 'List')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'One', Position = 0, ValueFromPipelineByPropertyName)] [string] $Id,
        [Parameter(ParameterSetName = 'List')] [ValidatePattern('^\d{4}-\d{2}$')] [string] $Period,
        [Parameter(ParameterSetName = 'List')] [string] $TenantId,
        [Parameter(ParameterSetName = 'List')] [string] $Status
    )
    process {
        if ($PSCmdlet.ParameterSetName -eq 'One') {
            return Invoke-StackBillApi -Path "billing/invoices/$([uri]::EscapeDataString($Id))"
        }
        Get-StackBillPages -Path 'billing/invoices' -Query @{ period = $Period; tenantId = $TenantId; status = $Status }
    }
}

function Get-StackBillSubscription {
    <#
    .SYNOPSIS
    Lists the subscriptions the caller may see, or gets one by id.

    .PARAMETER Id
    A subscription id; without it, subscriptions are listed.

    .PARAMETER TenantId
    Only this tenant's subscriptions.

    .EXAMPLE
    Get-StackBillSubscription -TenantId contoso
    #>
    [CmdletBinding(DefaultParameterSetName = 'List')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'One', Position = 0, ValueFromPipelineByPropertyName)] [string] $Id,
        [Parameter(ParameterSetName = 'List')] [string] $TenantId
    )
    process {
        if ($PSCmdlet.ParameterSetName -eq 'One') {
            return Invoke-StackBillApi -Path "subscriptions/$([uri]::EscapeDataString($Id))"
        }
        Get-StackBillPages -Path 'subscriptions' -Query @{} |
            Where-Object { -not $TenantId -or $_.tenantId -eq $TenantId }
    }
}

function Get-StackBillPages {
    # Every page of a list endpoint (1-based pages of up to 1000).
    param([string] $Path, [hashtable] $Query)
    $size = 1000
    for ($page = 1; ; $page++) {
        $q = @{} + $Query
        $q.page = $page
        $q.pageSize = $size
        $items = @(Invoke-StackBillApi -Path $Path -Query $q)
        $items
        if ($items.Count -lt $size) { break }
    }
}

function Invoke-StackBillBilling {
    <#
    .SYNOPSIS
    Generates (or regenerates) the invoice previews of a billing period on the server.

    .DESCRIPTION
    Posts billing/generate. Tenants whose invoice for the period is already issued keep it;
    a platform caller's full run also writes the period's commission summaries.

    .PARAMETER Period
    The billing period, YYYY-MM.

    .PARAMETER TenantId
    Only these tenants (default: every tenant the caller may bill).

    .EXAMPLE
    Invoke-StackBillBilling -Period 2026-10
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory)] [ValidatePattern('^\d{4}-\d{2}$')] [string] $Period,
        [string[]] $TenantId
    )
    $body = @{ period = $Period }
    if ($TenantId) { $body.tenantIds = @($TenantId) }
    if ($PSCmdlet.ShouldProcess("billing period $Period", 'Generate invoices')) {
        Invoke-StackBillApi -Path 'billing/generate' -Method Post -Body $body
    }
}

Export-ModuleMember -Function Invoke-StackBillRating, Test-StackBillPermission, Connect-StackBill,
    Disconnect-StackBill, Get-StackBillInvoice, Get-StackBillSubscription, Invoke-StackBillBilling
