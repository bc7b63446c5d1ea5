"""Bringing existing subscribers into mikrosync: from a CSV file, or adopted from a router."""
