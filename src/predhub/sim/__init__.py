"""The venue simulator: an offline world that speaks each venue's real API.

One Starlette app (`app.build_app`) serves every venue's APIs (each venue's
plug-in, `plugins.SimPlugin`, in the module named after it) under its
prefixes, plus `/admin` for counts, ground truth, faults and time. The world
(`world.World`, populated by `generate.populate`) moves forward in simulated
time; `runtime.Sim` ties it to a clock and the serving controls; `gate`
applies rate limits, latency and faults the venues' way. Tests and benchmarks
use `testing.running_simulator`; the command line is `predhub sim`.
"""
