"""Customer messages: payment received, reconnected, expiring in N days, expired; by e-mail
(SMTP) and SMS (a provider's HTTP API), sent as queue jobs, at most once per occasion."""
