# SPDX-License-Identifier: GPL-2.0
"""KUnit on UML through the tree's own tools/testing/kunit/kunit.py, each
case reported as a result of its own, from the KTAP the kernel printed."""

import subprocess
import time

from . import common, kernels, parsers, source
from .context import Context
from .report import FAIL, PASS, Result, SKIP

KUNITCONFIG = 'kernel/.kunitconfig'
# The series' suites: each must start, run every case it plans and end.
SUITES = {'panic_hooks', 'panic_halt'}
TIMEOUT = 1800


def run(ctx: Context) -> None:
	"""Build and run kernel/.kunitconfig on UML; a result per case."""
	build_dir = common.OUT / 'kunit'
	logfile = common.LOGS / 'kunit.log'
	logfile.unlink(missing_ok=True)
	start = time.monotonic()
	name = f'kunit: {KUNITCONFIG} on UML'
	try:
		proc = common.run(['/usr/bin/python3', source.BUILD_TREE / 'tools/testing/kunit/kunit.py',
				   'run', f'--kunitconfig={KUNITCONFIG}', f'--build_dir={build_dir}',
				   f'--jobs={common.jobs()}', '--make_options=CC=ccache gcc',
				   '--raw_output=all'],
				  cwd=source.BUILD_TREE, logfile=logfile, env=kernels.BUILD_ENV,
				  check=False, timeout=TIMEOUT)
	except subprocess.TimeoutExpired:
		ctx.report.add(Result(name, FAIL, f'kunit.py did not finish in {TIMEOUT} s',
				      str(logfile), time.monotonic() - start))
		return
	cases = parsers.ktap(logfile.read_text(errors='replace'))
	if not cases:
		ctx.report.add(Result(name, FAIL, f'no test case ran (kunit.py exit {proc.returncode})',
				      str(logfile), time.monotonic() - start))
		return
	for c in cases:
		status = {'PASS': PASS, 'SKIP': SKIP}.get(c.status, FAIL)
		why = c.reason if status == SKIP else '' if status == PASS else 'not ok'
		ctx.report.add(Result(f'kunit: {c.suite}.{c.name}', status, why,
				      str(logfile) if status == FAIL else None))
	if proc.returncode and all(c.status != 'FAIL' for c in cases):
		ctx.report.add(Result(name, FAIL, f'kunit.py exited {proc.returncode}', str(logfile)))
	gaps = parsers.ktap_gaps(logfile.read_text(errors='replace'), SUITES)
	if gaps:
		ctx.report.add(Result(name, FAIL, '; '.join(gaps), str(logfile)))
