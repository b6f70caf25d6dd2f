"""Who is home: the pure state machine (`machine`, with `now` an argument) over the records of `model`,
kept between runs in state.json (`file`), in a folder checked and locked before a start (`folder`).
"""
