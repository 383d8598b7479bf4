# SPDX-License-Identifier: GPL-2.0
"""The harness's own checks: its unit tests (harness/tests/, pytest), its
type hints (mypy) and its style (flake8), each with Debian's packages for
Debian's /usr/bin/python3 (the python3 first on PATH may be another)."""

from . import common
from .report import expect

PYTHON = '/usr/bin/python3'
HARNESS = common.ROOT / 'harness'
# The entry point is a script without .py: mypy and flake8 get it by name.
SOURCES = [HARNESS / 'ph', HARNESS / 'phlib', HARNESS / 'tests']
PACKAGES = {'/usr/lib/python3/dist-packages/pytest': 'python3-pytest',
	    '/usr/lib/python3/dist-packages/mypy': 'python3-mypy',
	    '/usr/lib/python3/dist-packages/flake8': 'flake8'}


def _tool(name: str, argv: list[str]) -> str:
	"""Run one tool; its last line of output, or a failure with its log."""
	logfile = common.LOGS / f'harness-{name}.log'
	logfile.parent.mkdir(parents=True, exist_ok=True)
	logfile.write_text('')
	proc = common.run([PYTHON, '-m'] + argv, logfile=logfile, cwd=HARNESS, check=False)
	lines = [ln for ln in logfile.read_text().splitlines() if ln.strip()]
	expect(proc.returncode == 0, f'{name} exited {proc.returncode}: '
	       f'{lines[-1] if lines else "no output"}', logfile)
	return lines[-1] if lines else ''


def run() -> str:
	"""pytest, mypy and flake8 on the harness; all must pass."""
	common.ensure_packages(PACKAGES)
	tests = _tool('pytest', ['pytest', '-q', '-p', 'no:cacheprovider', 'tests'])
	_tool('mypy', ['mypy', '--config-file', str(HARNESS / 'mypy.ini'),
			      '--cache-dir', str(common.CACHE / 'mypy'), 'ph', 'phlib', 'tests'])
	_tool('flake8', ['flake8', '--config', str(HARNESS / '.flake8'), 'ph', 'phlib', 'tests'])
	return f'pytest: {tests}; mypy and flake8 clean'
