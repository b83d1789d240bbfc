"""`gradtui bench`: the product against what a user would otherwise write, measured in one run.

Every speed figure is taken next to its baseline, in interleaved rounds (median of the rounds), so
the ratios survive a noisy machine even when the absolute numbers do not. The engine is measured as
a user gets it: `Session.step` with the default chunking and every measurement on (default
`eval_every`, probe, forecast, norms), never a trimmed-down variant.

Figures (the JSON keys):

- engine_steps_per_s: the lab engine on the article's example 3 shape (mlp, batch 100, Adam 0.01);
  train_on_batch_steps_per_s, eager_steps_per_s, in_graph_steps_per_s: the same model, optimizer
  and batch with Keras `train_on_batch`, the article's eager GradientTape loop, and a bare
  `tf.function` with a `tf.range` loop and no measurements (on the engine's own minibatches, in the
  engine's mode). The mlp's engine / bare-loop ratio has no target: on 71 parameters a step is
  TensorFlow's per-op dispatch, so the ratio counts the measurements' ops, not their arithmetic.
- tf_import_s, ready_s, ready_over_tf_import_s: `python -c "import tensorflow"` (the median of fresh
  runs taken just before the launch, after one untimed run that brings TensorFlow's libraries into
  the page cache as the launch finds them), and `python -m gradtui` in a pseudo-terminal from spawn
  until its status line says ready (the step traced), and the difference.
- first_step_ms, key_step_ms_p50/p99: Space typed into that terminal until the status line with the
  new step number is painted (status and plots repaint together at rest): the first step after
  ready, then presses 50 ms apart at 120x36.
- play_rss_mb_per_min: that app process's resident memory while it plays (p), sampled every half
  second over 60 s, as a least-squares slope, after playing 100,000 steps (twice every history's
  exact-row cap: by then its arrays and the allocator have settled).
- export_1m_s: writing a synthetic million-step History as `.npz` (`gradtui run --out FILE.npz`).
- tui_steps_per_s: the real app (headless, `App.run_test`) auto-running with its plots refreshing.
- ui_latency_p50_ms / ui_latency_p99_ms: while it runs flat out, a probe thread posts a callback to
  the app every 20 ms, the way the terminal driver's input thread posts a key; the figure is the
  time until the app's message loop runs it.
- first_frame_s: `python -m gradtui` started in a pseudo-terminal, from just before the spawn to the
  first full-screen paint read back from the terminal.
- rss_growth_mb_100k: VmRSS after warm-up vs after N more recorded engine steps, scaled to 100k.
- plot_draw_ms_100k: one redraw of the app's plot widget (chart from the History, downsampling,
  plotext, strips) with 100k recorded steps.
- engine_cnn_steps_per_s, in_graph_cnn_steps_per_s, engine_cnn_vs_in_graph (and the vgg16 trio on a GPU):
  the engine against the bare loop on bigger models, where the per-step measurements cost relatively less.
- replicas, replicas_max_abs_diff, replicas_steps_per_s, one_device_steps_per_s: correctness, not
  speed. Where there are several devices of one kind (GPUs, or CPUs split by GRADTUI_LOGICAL_CPUS),
  the example-3 run on all of them (MirroredStrategy) against the same run on the first one: the
  largest difference in any recorded column, and each run's steps/s. None with one device.

TensorFlow is imported inside the functions, never at module import. The figures live apart by what
they import: engine_figures.py (TensorFlow, never Textual), tui_figures.py (Textual, never
TensorFlow), terminal_figures.py and export_figure.py (neither: the app runs in its own process),
report.py (neither: keys, targets, sizes, the table); run.py runs them in order.
"""

from gradtui.bench.engine_figures import rss_mb
from gradtui.bench.report import FIGURE_KEYS, TARGETS, format_table
from gradtui.bench.run import run_bench

__all__ = ["FIGURE_KEYS", "TARGETS", "format_table", "rss_mb", "run_bench"]
