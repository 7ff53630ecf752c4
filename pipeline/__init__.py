"""Engine-free logic of the Yi corpus build.

Everything here works on plain Python documents or pyarrow batches and never
imports Spark: the same code runs in a unit test, in a single process, or
inside a Spark executor (jobs/ wires it in).
"""
