"""The config: people_config.yaml read and checked once (`load`), into typed objects (`model`).

`sections` checks each section and `people` the `people:` list, both with the `checker`, which names
the key of every problem; `secrets` reads the token and the MQTT password the config names but does
not hold; `mqtt_topics` derives the topics and entity ids of the `mqtt:` section; `defaults` holds every
default and every tunable number of the program, in one place.
"""
