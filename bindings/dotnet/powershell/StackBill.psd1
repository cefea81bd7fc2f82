# Module manifest of the StackBill PowerShell module: the engine in-process (through
# StackBill.dll and the native stackbill_ffi library next to it) and a client for the
# StackBill REST API.
@{
    RootModule           = 'StackBill.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '5d6a4f0e-8a43-4c1e-9a0d-2f4b7c3e61a9'
    Author               = 'StackBill developers'
    Copyright            = 'Apache-2.0'
    Description          = 'StackBill billing engine for Azure Stack Hub resellers: rate scenarios in-process, check permissions, and drive the StackBill REST API.'
    PowerShellVersion    = '7.0'
    CompatiblePSEditions = @('Core')
    RequiredAssemblies   = @('StackBill.dll')
    FunctionsToExport    = @(
        'Invoke-StackBillRating',
        'Test-StackBillPermission',
        'Connect-StackBill',
        'Disconnect-StackBill',
        'Get-StackBillInvoice',
        'Get-StackBillSubscription',
        'Invoke-StackBillBilling'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{ PSData = @{ Tags = @('Billing', 'AzureStackHub'); LicenseUri = 'https://www.apache.org/licenses/LICENSE-2.0' } }
}
