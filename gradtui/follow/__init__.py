"""`gradtui follow`: a read-only view of a running lab, fed by its stream (never TensorFlow, never the engine)."""
