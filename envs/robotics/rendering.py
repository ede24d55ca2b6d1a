"""Headless MuJoCo rendering: backend choice (EGL, else OSMesa) and an 84×84 frame renderer.

MuJoCo and dm_control read ``MUJOCO_GL`` once, when they are first imported, so :func:`setup_headless`
must run before ``import mujoco``; every module of this family calls it at import time. The choice:

1. ``MUJOCO_GL`` already set by the user → kept (``egl``, ``osmesa``, ``glfw``...).
2. otherwise ``egl`` if an EGL context can be created (a short subprocess probe, since a failed EGL
   initialisation cannot be undone in-process), else ``osmesa``.

``PYOPENGL_PLATFORM`` is set to match (dm_control issue #136: OSMesa needs both). The choice is written to
``os.environ``, so subprocess workers (``spawn``) inherit it without probing again.

Fast rendering (``fast=True``) turns shadows and multisampling off (``model.vis.quality.shadowsize = 0``,
``offsamples = 0``): ~5× more frames/s on a CPU (measured: docs/robotics.md, `python -m envs.check_render`).
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import warnings
import weakref
from typing import Any

import numpy as np

_PROBE = "import mujoco\nctx = mujoco.GLContext(8, 8)\nctx.make_current()\nctx.free()\n"


def _backend_works(backend: str) -> bool:
    env = dict(os.environ, MUJOCO_GL=backend, PYOPENGL_PLATFORM=backend)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def setup_headless(backend: str | None = None) -> str:
    """Choose the OpenGL backend for MuJoCo before it is imported; returns the backend in use.

    Args:
        backend: force ``egl`` / ``osmesa`` / ``glfw``; ``None`` keeps ``$MUJOCO_GL`` or probes EGL then
        OSMesa.
    """
    current = os.environ.get("MUJOCO_GL")
    if current and backend in (None, current):
        if current in ("egl", "osmesa"):
            os.environ.setdefault("PYOPENGL_PLATFORM", current)
        return current
    if "mujoco" in sys.modules:
        warnings.warn(
            "mujoco was imported before envs.robotics.rendering.setup_headless(); MUJOCO_GL is read at "
            "import, "
            "so the rendering backend cannot change now. Set MUJOCO_GL=egl (or osmesa) in the environment, "
            "or import envs.robotics before mujoco.",
            stacklevel=2,
        )
    chosen = backend
    if chosen is None:
        chosen = "egl" if _backend_works("egl") else "osmesa"
    os.environ["MUJOCO_GL"] = chosen
    if chosen in ("egl", "osmesa"):
        os.environ["PYOPENGL_PLATFORM"] = chosen
    return chosen


#: Renderers alive in this process; closed at exit, before OpenGL is torn down (otherwise MuJoCo's
#: ``Renderer.__del__`` prints EGL errors during interpreter shutdown).
_LIVE_RENDERERS: weakref.WeakSet[FrameRenderer] = weakref.WeakSet()


def _close_live_renderers() -> None:
    for renderer in list(_LIVE_RENDERERS):
        renderer.close()


def apply_fast_render(model: Any) -> None:
    """Turn off shadows and multisampling on a ``mujoco.MjModel`` (before its renderer is built)."""
    model.vis.quality.shadowsize = 0
    model.vis.quality.offsamples = 0


class FrameRenderer:
    """Renders ``(height, width, 3)`` uint8 frames of a MuJoCo model from a named or free camera.

    Args:
        model: ``mujoco.MjModel``.
        width, height: image size in pixels.
        camera: camera name, camera id, or a ``mujoco.MjvCamera`` (free camera); ``-1`` is the default free
        view.
        flip: rotate the image by 180° (Meta-World's corner cameras render upside down).
        fast: turn off shadows and multisampling (mutates ``model.vis``; see :func:`apply_fast_render`).
    """

    def __init__(
        self,
        model: Any,
        width: int,
        height: int,
        camera: Any = -1,
        flip: bool = False,
        fast: bool = False,
    ) -> None:
        import mujoco

        if fast:
            apply_fast_render(model)
        # The offscreen buffer must hold the image (MuJoCo default: 640×480).
        model.vis.global_.offwidth = max(int(model.vis.global_.offwidth), width)
        model.vis.global_.offheight = max(int(model.vis.global_.offheight), height)
        if isinstance(camera, str):
            cam_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
            if cam_id < 0:
                names = [model.camera(i).name for i in range(model.ncam)]
                raise ValueError(f"camera {camera!r} not in the model; cameras: {names}")
            camera = cam_id
        self.camera = camera
        self.flip = flip
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        if not _LIVE_RENDERERS:
            # Registered after mujoco's GL module, so it runs *before* mujoco's own atexit (LIFO) terminates
            # EGL.
            atexit.unregister(_close_live_renderers)
            atexit.register(_close_live_renderers)
        _LIVE_RENDERERS.add(self)

    def render(self, data: Any) -> np.ndarray:
        """The current frame of ``data`` (``mujoco.MjData``) as a contiguous uint8 array."""
        self._renderer.update_scene(data, camera=self.camera)
        frame = self._renderer.render()
        if self.flip:
            frame = frame[::-1, ::-1]
        return np.ascontiguousarray(frame)

    def close(self) -> None:
        """Free the GL context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
