"""Build the shipped sample corpus (data/sample/) and reference text
(data/reference/) from real text that can be had offline: the command line of
the infra/sample/ package (what each part writes and why: its docstring).

  python infra/build_sample.py [--src build/sample-src] [--out data]
"""
from sample.build import main

if __name__ == "__main__":
    main()
