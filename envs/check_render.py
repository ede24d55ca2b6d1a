"""Print which headless MuJoCo rendering backend works here and how many 84×84 frames/s it renders.

Usage: ``python -m envs.check_render [--backend egl|osmesa] [--frames 100]``. The backend is chosen as in
:func:`envs.robotics.rendering.setup_headless` (``$MUJOCO_GL``, else EGL, else OSMesa). Frames/s are
measured on the DMC ``cheetah-run`` camera with default and fast (no shadows, no multisampling) settings.
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["egl", "osmesa", "glfw"], default=None)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args(argv)

    from envs.robotics.rendering import setup_headless

    backend = setup_headless(args.backend)
    import mujoco
    from dm_control import suite

    from envs.robotics.rendering import FrameRenderer

    print(f"MUJOCO_GL={backend} (mujoco {mujoco.__version__})")
    env = suite.load("cheetah", "run", task_kwargs={"random": 0})
    env.reset()
    physics = env.physics
    for fast in (False, True):
        model = physics.model.ptr
        renderer = FrameRenderer(model, 84, 84, camera=0, fast=fast)
        frame = renderer.render(physics.data.ptr)
        assert frame.shape == (84, 84, 3) and frame.std() > 0, "rendered an empty frame"
        start = time.perf_counter()
        for _ in range(args.frames):
            renderer.render(physics.data.ptr)
        fps = args.frames / (time.perf_counter() - start)
        renderer.close()
        print(f"{'fast' if fast else 'default'} render 84x84: {fps:.0f} frames/s")
    env.close()


if __name__ == "__main__":
    main()
