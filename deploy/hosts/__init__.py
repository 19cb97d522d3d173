"""Talking to hosts: SSH connections, one long-lived shell per host, the scripts run there."""
