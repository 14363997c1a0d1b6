"""Application code built on the library: the commands of the ``ecgfast`` CLI as functions.

- :mod:`ecgfast.apps.demo` — the main job: synthetic pretraining → transfer to MIT-BIH beats
  (needs torch).
- :mod:`ecgfast.apps.train` — ``ecgfast pretrain`` and ``ecgfast finetune`` (needs torch).
- :mod:`ecgfast.apps.label` — ``ecgfast label``: intervals of WFDB records into a table.
- :mod:`ecgfast.apps.bench` — ``ecgfast bench``: speed and accuracy against the peers.

Nothing here is imported by ``import ecgfast``; the CLI (:mod:`ecgfast.cli`) only parses
arguments and calls these functions.
"""
