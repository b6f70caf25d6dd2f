"""The config: people_config.yaml read and checked once (`load`), into typed objects (`model`).

`sections` checks each section and names the key of every problem, `people` the `people:` list,
`defaults` holds every default and every tunable number of the program, in one place.
"""
