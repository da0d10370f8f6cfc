"""``sealshot serve``: several cameras, unattended, in real time, one supervised process per camera.

``load_config`` reads and checks a ``cameras.toml``; ``Supervisor`` starts one process per camera
(``camera.camera_main``), restarts a crashed one with back-off, serves Prometheus metrics and
``/healthz`` on loopback, and on SIGTERM lets every camera seal its open tracks before it exits.
"""

from sealshot.serve.config import CameraSettings, ServeConfig, load_config

__all__ = ["CameraSettings", "ServeConfig", "load_config"]
