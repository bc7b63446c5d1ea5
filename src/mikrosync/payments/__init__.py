"""The money path: payments, the wallet ledger, renewal from the wallet, and M-Pesa."""
