# Pester 5 tests of the StackBill PowerShell module. They need pwsh (PowerShell 7) and run
# from scripts/test-bindings wherever it exists; elsewhere that script says they were skipped.
# The module is the one bindings/dotnet/build.sh lays out (or $env:STACKBILL_MODULE).

BeforeAll {
    $root = (Resolve-Path (Join-Path $PSScriptRoot '../../../..')).Path
    $module = if ($env:STACKBILL_MODULE) { $env:STACKBILL_MODULE } else { Join-Path $root 'target/dotnet/StackBill/StackBill.psd1' }
    Import-Module $module -Force
    function Normalize($json) { $json | ConvertFrom-Json | ConvertTo-Json -Depth 30 -Compress }
}

Describe 'Invoke-StackBillRating' {
    BeforeDiscovery {
        $root = (Resolve-Path (Join-Path $PSScriptRoot '../../../..')).Path
        $cases = foreach ($dir in 'vectors', 'scenarios') {
            Get-ChildItem (Join-Path $root "core/tests/$dir") -Filter '*.scenario.json' | Sort-Object Name | ForEach-Object {
                @{ Name = "$dir/$($_.Name)"; Scenario = $_.FullName; Expected = $_.FullName -replace '\.scenario\.json$', '.expected.json' }
            }
        }
    }

    It 'gives exactly the expected document for <Name>' -ForEach $cases {
        $expected = Get-Content $Expected -Raw | ConvertFrom-Json
        if ($expected.PSObject.Properties['error']) {
            $err = { Invoke-StackBillRating -Scenario $Scenario } | Should -Throw -PassThru
            $err.Exception | Should -BeOfType ([StackBill.InvalidScenarioException])
            $paths = $err.Exception.Problems | ForEach-Object Path
            foreach ($p in $expected.error.paths) { $paths | Should -Contain $p }
        } else {
            $result = Invoke-StackBillRating -Scenario $Scenario
            Normalize $result.ToJson() | Should -BeExactly (Normalize (Get-Content $Expected -Raw))
        }
    }

    It 'resolves relative paths against the PowerShell location' {
        Push-Location (Join-Path $root 'core/tests/vectors')
        try {
            $result = Invoke-StackBillRating flat-basic.scenario.json
            $result.Invoices.Count | Should -BeGreaterThan 0
            $result.Invoices[0].Total | Should -BeOfType ([decimal])
            $result.Invoices[0].PeriodStart | Should -BeOfType ([DateTimeOffset])
        } finally { Pop-Location }
    }

    It 'adds a usage file' {
        $usage = Join-Path $TestDrive 'u.csv'
        "subscription,meter,start,end,quantity`nnope,m,2026-10-05T00:00:00Z,2026-10-05T01:00:00Z,1" | Set-Content $usage
        $result = Invoke-StackBillRating -Scenario (Join-Path $root 'core/tests/vectors/flat-basic.scenario.json') -Usage $usage
        ($result.Unbilled | Where-Object Subscription -eq 'nope').Records | Should -Be 1
    }

    It 'reports a missing file as UnreadableInputException' {
        { Invoke-StackBillRating -Scenario (Join-Path $TestDrive 'missing.json') } | Should -Throw -ExceptionType ([StackBill.UnreadableInputException])
    }
}

Describe 'Test-StackBillPermission' {
    It 'applies the core policy' {
        $p1 = @{ distributor = 'd1'; partner = 'p1' }
        $t1 = @{ distributor = 'd1'; partner = 'p1'; tenant = 't1' }
        Test-StackBillPermission -Role PartnerAdministrator -At $p1 -Action update -Target $t1 | Should -BeTrue
        Test-StackBillPermission -Role PartnerAdministrator -At $p1 -Action update -Target $p1 | Should -BeFalse
        Test-StackBillPermission -Role PartnerAdministrator -At $p1 -Action create -Target $p1 -Governance @{ partner_tenant_self_provisioning = $false } | Should -BeFalse
    }

    It 'refuses unknown names with ScopeException' {
        { Test-StackBillPermission -Role Emperor -Action read } | Should -Throw -ExceptionType ([StackBill.ScopeException])
    }

    It 'completes role names from the engine' {
        $completions = TabExpansion2 -inputScript 'Test-StackBillPermission -Role PartnerA' -cursorColumn 40
        $completions.CompletionMatches.CompletionText | Should -Contain 'PartnerAdministrator'
    }
}

Describe 'REST cmdlets' {
    BeforeEach {
        Mock -ModuleName StackBill Invoke-RestMethod {
            if ($Uri -like '*/auth/token') {
                return [pscustomobject]@{ token = 'tok'; refreshToken = 'r'; expiresAt = '2026-10-01T00:15:00Z'; restriction = $null }
            }
            return [pscustomobject]@{ code = 200; data = @([pscustomobject]@{ id = 's1'; tenantId = 't1' }, [pscustomobject]@{ id = 's2'; tenantId = 't2' }); errors = @() }
        }
        $password = ConvertTo-SecureString 'secret' -AsPlainText -Force
        Connect-StackBill -BaseUrl 'http://127.0.0.1:8080' -Credential ([pscredential]::new('admin@stackbill.local', $password)) | Out-Null
    }

    It 'signs in at auth/token with the manual''s body and sends the bearer token' {
        Should -Invoke -ModuleName StackBill Invoke-RestMethod -ParameterFilter {
            $Uri -eq 'http://127.0.0.1:8080/api/v1/auth/token' -and $Method -eq 'Post' -and
            ($Body | ConvertFrom-Json).EmailAddress -eq 'admin@stackbill.local' -and ($Body | ConvertFrom-Json).Password -eq 'secret'
        }
        $subs = Get-StackBillSubscription -TenantId t2
        $subs.id | Should -Be 's2'
        Should -Invoke -ModuleName StackBill Invoke-RestMethod -ParameterFilter {
            $Uri -like 'http://127.0.0.1:8080/api/v1/subscriptions?*' -and $Headers.Authorization -eq 'Bearer tok'
        }
    }

    It 'asks for invoices by period and generates billing with a POST' {
        Get-StackBillInvoice -Period 2026-10 | Out-Null
        Should -Invoke -ModuleName StackBill Invoke-RestMethod -ParameterFilter { $Uri -like '*/billing/invoices?*period=2026-10*' }
        Invoke-StackBillBilling -Period 2026-10 -TenantId t1 -Confirm:$false | Out-Null
        Should -Invoke -ModuleName StackBill Invoke-RestMethod -ParameterFilter {
            $Uri -like '*/billing/generate' -and $Method -eq 'Post' -and ($Body | ConvertFrom-Json).tenantIds[0] -eq 't1'
        }
    }

    It 'refuses calls before Connect-StackBill' {
        Disconnect-StackBill
        { Get-StackBillInvoice } | Should -Throw '*Connect-StackBill*'
    }
}
