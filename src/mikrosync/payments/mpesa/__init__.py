"""M-Pesa through Safaricom's Daraja API: C2B callbacks, STK push and its callback."""
