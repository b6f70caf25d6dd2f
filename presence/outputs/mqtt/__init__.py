"""The MQTT output: who is home handed to Home Assistant by MQTT discovery. What to say (`messages`, pure),
under which topics (`topics`), and the broker connection that keeps it current (`publisher`, `client`)."""
