# SPDX-License-Identifier: GPL-2.0
"""KUnit on UML through the tree's own tools/testing/kunit/kunit.py."""

import json
from dataclasses import dataclass

from . import build, common
from .common import run

KUNITCONFIGS = ['kernel/.kunitconfig']


@dataclass
class Case:
	suite: str
	name: str
	status: str     # PASS, FAIL or SKIP as KTAP says
	log: str


def _cases(node, suite=''):
	for sub in node.get('sub_groups', []):
		yield from _cases(sub, sub.get('name', suite))
	for case in node.get('test_cases', []):
		yield Case(suite, case['name'], case['status'], case.get('log', ''))


def run_kunit(tree, kunitconfig):
	"""Build and run one .kunitconfig on UML; returns its cases."""
	name = kunitconfig.replace('/', '-').replace('.', '')
	build_dir = common.OUT / f'kunit-{name}'
	logfile = common.LOGS / f'kunit-{name}.log'
	logfile.unlink(missing_ok=True)
	result = common.OUT / f'kunit-{name}.json'
	result.unlink(missing_ok=True)
	proc = run([tree / 'tools/testing/kunit/kunit.py', 'run', f'--kunitconfig={kunitconfig}',
		    f'--build_dir={build_dir}', f'--jobs={common.jobs()}', f'--json={result}',
		    '--make_options=CC=ccache gcc'],
		   cwd=tree, logfile=logfile, env=build.BUILD_ENV, check=False, timeout=1800)
	if not result.exists():
		raise common.CommandError(['kunit.py'], proc.returncode, logfile,
					  common.tail_of(logfile))
	return list(_cases(json.loads(result.read_text()))), logfile
