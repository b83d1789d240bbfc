"""The engine the lab drives: a worker thread that owns the session (worker.py), the saver that writes
it (saver.py), where sessions come from (sessions.py: Keras; fake.py: NumPy, for UI tests), and the
Protocols between them (protocol.py). The UI reads the engine only through view.EngineView."""

from gradtui.tui.engine.driver import FINAL_SAVE_SECONDS, PLAY_LIMIT, STEP_QUEUE, Engine, EngineFactory

__all__ = ["FINAL_SAVE_SECONDS", "PLAY_LIMIT", "STEP_QUEUE", "Engine", "EngineFactory"]
