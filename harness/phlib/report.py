# SPDX-License-Identifier: GPL-2.0
"""Check results: one line per check as it finishes, a summary at the end."""

import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import common

PASS, FAIL, SKIP = 'PASS', 'FAIL', 'SKIP'


@dataclass
class Result:
	name: str
	status: str
	why: str = ''
	log: Path = None
	seconds: float = 0.0


class CheckFailed(Exception):
	"""Raised inside a check: why it failed and where to look."""

	def __init__(self, why, log=None):
		super().__init__(why)
		self.log = log


class Skipped(Exception):
	pass


def expect(condition, why, log=None):
	if not condition:
		raise CheckFailed(why, log)


class Report:
	def __init__(self):
		self.results = []

	def add(self, result):
		self.results.append(result)
		line = f'{result.status} {result.name}'
		if result.seconds >= 1:
			line += f' ({result.seconds:.0f} s)'
		if result.why:
			line += f': {result.why}'
		if result.log and result.status != PASS:
			line += f'\n     log: {result.log}'
		print(line, flush=True)

	def check(self, name, fn, *args):
		"""Run fn(*args) as one check; returns its value, None on failure."""
		start = time.monotonic()
		try:
			value = fn(*args)
		except Skipped as e:
			self.add(Result(name, SKIP, str(e), None, time.monotonic() - start))
			return None
		except CheckFailed as e:
			self.add(Result(name, FAIL, str(e), e.log, time.monotonic() - start))
			return None
		except common.CommandError as e:
			self.add(Result(name, FAIL, str(e), e.logfile, time.monotonic() - start))
			return None
		except Exception:
			self.add(Result(name, FAIL, 'harness error:\n' + traceback.format_exc(), None,
					time.monotonic() - start))
			return None
		# A check that measures something says what it measured.
		said = value if isinstance(value, str) else ''
		self.add(Result(name, PASS, said, None, time.monotonic() - start))
		return value if value is not None else True

	def count(self, status):
		return sum(r.status == status for r in self.results)

	def summary(self):
		failed = [r for r in self.results if r.status == FAIL]
		if failed:
			print('\nfailed checks:')
			for r in failed:
				print(f'  {r.name}' + (f' (log: {r.log})' if r.log else ''))
		line = f'{self.count(PASS)} passed, {self.count(FAIL)} failed'
		if self.count(SKIP):
			line += f', {self.count(SKIP)} skipped'
		print(line, flush=True)
		return not failed
