# SPDX-License-Identifier: GPL-2.0
"""Check results: one line per check as it finishes, a summary at the end,
the same results as KTAP and JSON under build/results/, and how long each
stage of the run took."""

import json
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

from . import common

PASS, FAIL, SKIP = 'PASS', 'FAIL', 'SKIP'
RESULTS = common.BUILD / 'results'


@dataclass
class Result:
	name: str
	status: str
	why: str = ''
	log: Optional[str] = None
	seconds: float = 0.0


class CheckFailed(Exception):
	"""Raised inside a check: why it failed and where to look."""

	def __init__(self, why: str, log: Union[Path, str, None] = None):
		super().__init__(why)
		self.log = log


class Skipped(Exception):
	"""Raised inside a check that needs something this machine lacks."""


def expect(condition: Any, why: str, log: Union[Path, str, None] = None) -> None:
	if not condition:
		raise CheckFailed(why, log)


# A failure's log may live on a machine nobody can reach afterwards (CI):
# its last lines go into the output with the verdict.
LOG_TAIL_LINES = 12


def log_tail(log: Union[Path, str], lines: int = LOG_TAIL_LINES) -> list[str]:
	"""The last lines of a log file; none if it is not a readable file."""
	try:
		with open(log, 'rb') as f:
			f.seek(0, 2)
			f.seek(max(0, f.tell() - 16384))
			text = f.read().decode('utf-8', 'replace')
	except OSError:
		return []
	return [ln.rstrip() for ln in text.splitlines()[-lines:]]


class Stages:
	"""Wall time of the named stages of a run, in the order they ran."""

	def __init__(self) -> None:
		self.times: dict[str, float] = {}

	@contextmanager
	def stage(self, name: str) -> Iterator[None]:
		start = time.monotonic()
		try:
			yield
		finally:
			self.times[name] = self.times.get(name, 0.0) + time.monotonic() - start

	def print(self, total: float) -> None:
		print(f'\nstage times (total {total / 60:.1f} min):')
		for name, seconds in self.times.items():
			print(f'  {seconds:7.0f} s  {name}')
		if any('in the background' in name for name in self.times):
			print('  (builds in the background overlap the checks beside them: the '
			      'stages add up to more than the total)')


class Report:
	def __init__(self, name: str = 'test') -> None:
		self.name = name
		self.results: list[Result] = []
		self._lock = threading.Lock()        # checks may run side by side

	def add(self, result: Result) -> None:
		with self._lock:
			self._add(result)

	def _add(self, result: Result) -> None:
		self.results.append(result)
		line = f'{result.status} {result.name}'
		if result.seconds >= 1:
			line += f' ({result.seconds:.0f} s)'
		if result.why:
			line += f': {result.why}'
		if result.log and result.status != PASS:
			line += f'\n     log: {result.log}'
			if result.status == FAIL:
				line += ''.join(f'\n     | {ln}' for ln in log_tail(result.log))
		print(line, flush=True)

	def check(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
		"""Run fn(*args) as one check; returns its value, None unless it
		passed. Whatever the check raises, even SystemExit, is its result."""
		start = time.monotonic()
		status, why, log, value = PASS, '', None, None
		try:
			value = fn(*args)
		except Skipped as e:
			status, why = SKIP, str(e)
		except CheckFailed as e:
			status, why, log = FAIL, str(e), e.log
		except common.CommandError as e:
			status, why, log = FAIL, str(e), e.logfile
		except KeyboardInterrupt:
			raise
		except BaseException:       # noqa: B036 - a harness bug fails its check only
			status, why = FAIL, 'harness error:\n' + traceback.format_exc()
		if status == PASS and isinstance(value, str):
			why = value           # a check that measures says what it measured
		self.add(Result(name, status, why, str(log) if log else None, time.monotonic() - start))
		if status != PASS:
			return None
		return value if value is not None else True

	def count(self, status: str) -> int:
		return sum(r.status == status for r in self.results)

	def write(self) -> Path:
		"""build/results/<name>.ktap and .json; the KTAP path."""
		RESULTS.mkdir(parents=True, exist_ok=True)
		lines = ['KTAP version 1', f'1..{len(self.results)}']
		for i, r in enumerate(self.results, 1):
			ok = 'not ok' if r.status == FAIL else 'ok'
			directive = f' # SKIP {r.why.splitlines()[0] if r.why else ""}' if r.status == SKIP else ''
			if r.status == FAIL:
				lines += ['# ' + ln for ln in r.why.splitlines()[:20]]
			lines.append(f'{ok} {i} {r.name}{directive}')
		ktap = RESULTS / f'{self.name}.ktap'
		ktap.write_text('\n'.join(lines) + '\n')
		(RESULTS / f'{self.name}.json').write_text(
			json.dumps([asdict(r) for r in self.results], indent=1) + '\n')
		return ktap

	def summary(self) -> bool:
		failed = [r for r in self.results if r.status == FAIL]
		if failed:
			print('\nfailed checks:')
			for r in failed:
				print(f'  {r.name}' + (f' (log: {r.log})' if r.log else ''))
		print(f'results: {self.write()} (and .json)')
		line = f'{self.count(PASS)} passed, {self.count(FAIL)} failed'
		if self.count(SKIP):
			line += f', {self.count(SKIP)} skipped'
		print(line, flush=True)
		return not failed
