# Rate the example scenario in-process and check a permission, with the StackBill module.
#
#     bindings/dotnet/build.sh                       (native library + StackBill.dll + module)
#     pwsh examples/powershell/rate.ps1
#
# Against a running server (./scripts/demo), the REST cmdlets follow the manual's client:
#     Connect-StackBill -BaseUrl http://127.0.0.1:8080/api/v1 -Credential (Get-Credential)
#     Invoke-StackBillBilling -Period 2026-10
#     Get-StackBillInvoice -Period 2026-10 | Select-Object id, tenantId, total
param([string] $Module = (Join-Path $PSScriptRoot '../../target/dotnet/StackBill/StackBill.psd1'))

Import-Module $Module -Force

$result = Invoke-StackBillRating -Scenario (Join-Path $PSScriptRoot '../scenarios/northwind.scenario.json')
"period $($result.Period)"
$result.Invoices | Format-Table Tenant, Currency, @{ n = 'Lines'; e = { $_.Lines.Count } }, Total, PeriodStart -AutoSize
$result.Commissions | Format-Table PartyKind, Party, Currency, Base, Amount, Plan -AutoSize

# Money is System.Decimal: sums stay exact.
$sum = ($result.Invoices | Where-Object Currency -eq 'AUD' | Measure-Object Total -Sum).Sum
"AUD invoiced: $sum"

$partner = @{ distributor = 'dist-east'; partner = 'part-harbour' }
$tenant = $partner + @{ tenant = 'ten-kiwi' }
"partner may bill its tenant: $(Test-StackBillPermission -Role PartnerAdministrator -At $partner -Action manage_billing -Target $tenant)"

try {
    Invoke-StackBillRating -Scenario (Join-Path $PSScriptRoot 'invalid.scenario.json')
} catch [StackBill.InvalidScenarioException] {
    $_.Exception.Problems | ForEach-Object { "problem at $($_.Path): $($_.Message)" }
}
