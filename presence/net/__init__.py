"""Transports shared by the parts that talk to servers: HTTP with deadlines and redaction (`web`)."""
