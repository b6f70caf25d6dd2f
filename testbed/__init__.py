"""The real parts that the tests, the demos and the benchmarks run against.

`lab`: a throwaway LAN of Linux network namespaces; `carbon`, `graphite_web`, `homeassistant_core`:
the real servers on free loopback ports; `loopback`, `tcp_proxy`, `hostile_http`, `graphite_peers`:
small servers that misbehave on purpose; `synthetic_household`: a home whose power is known.
"""
