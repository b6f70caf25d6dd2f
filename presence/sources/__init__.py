"""The sources: what tells who is here, each reporting `observations` through the one `Source` interface
of `base` (`run(emit, stop, clock)`).

Polled ones are a `Poller` (`poll(now)` returns a report) run on their interval by `base.Every`: `wifi`
(an ARP sweep of each LAN, then unicast re-probes of the devices that missed it) and `homeassistant`
(its REST API). `listener` hears devices between sweeps. Below them: `frames` (build and parse Ethernet
frames), `network_interfaces` (which interface reaches which LAN), `neighbours` (the kernel's table, when
raw sockets are not allowed) and `vendors` (the OUI table). A new source is added in
`presence.daemon.wiring.Wiring.sources`.
"""
