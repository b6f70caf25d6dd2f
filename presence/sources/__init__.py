"""The sources: what tells who is here, each reporting `observations`.

Polled (`poll(now)` returns a report): `wifi` (an ARP sweep of each LAN, then unicast re-probes of
the devices that missed it) and `homeassistant` (its REST API). Listening (`run(emit, stop, now)`):
`listener`, which hears devices between sweeps. Below them: `frames` (build and parse Ethernet
frames), `network_interfaces` (which interface reaches which LAN), `neighbours` (the kernel's table,
when raw sockets are not allowed) and `vendors` (the OUI table). A new source follows
`presence.roles.PolledSource` or `presence.roles.Listener`.
"""
