"""Judging quality methods with real face recognition: LFW protocols, ERC and selection gain.

The comparators themselves (FaceNet, dlib) live in ``sealshot.recognize``; the
library entry points are ``sealshot.evaluate.benchmark.run_erc`` and
``sealshot.evaluate.benchmark.lfw_accuracy``.
"""
