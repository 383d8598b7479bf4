# SPDX-License-Identifier: GPL-2.0
"""Checks on the patch files themselves: form, identity, checkpatch."""

import os
import re
from pathlib import Path

from . import common, source
from .common import run
from .report import expect

EXCEPTIONS = common.ROOT / 'harness' / 'checkpatch-exceptions.txt'
SIGNOFF = f'Signed-off-by: {common.IDENTITY_NAME} <{common.IDENTITY_EMAIL}>'
FROM = f'From: {common.IDENTITY_NAME} <{common.IDENTITY_EMAIL}>'
SUBJECT = re.compile(r'^Subject: \[PATCH (\d+)/(\d+)\] ([A-Za-z0-9_/.,: -]+?): (\S.*)$', re.M)


def exceptions():
	"""{(patch, checkpatch type)}: accepted findings, each with a reason."""
	accepted = set()
	if not EXCEPTIONS.exists():
		return accepted
	for line in EXCEPTIONS.read_text().splitlines():
		if not line.strip() or line.startswith('#'):
			continue
		patch, kind, reason = (line.split(None, 2) + ['', ''])[:3]
		if not reason:
			common.die(f'{EXCEPTIONS}: "{line}" gives no reason')
		accepted.add((patch, kind))
	return accepted


def check_form(patch):
	"""Subject prefix, project identity, a message that explains."""
	text = patch.read_text()
	header, _, rest = text.partition('\n\n')
	message = rest.split('\n---\n', 1)[0]
	expect(SUBJECT.search(header), f'{patch.name}: subject is not "[PATCH n/m] subsystem: summary"')
	expect(FROM in header, f'{patch.name}: author is not the project identity')
	expect(SIGNOFF in message, f'{patch.name}: no "{SIGNOFF}"')
	body = [ln for ln in message.splitlines() if ln.strip() and not ln.startswith('Signed-off-by')]
	expect(len(body) >= 3, f'{patch.name}: the commit message does not explain the change')


def check_cover(cover):
	text = cover.read_text()
	expect('*** SUBJECT HERE ***' not in text and '*** BLURB HERE ***' not in text,
	       'the cover letter still has format-patch placeholders')


def checkpatch(patch, tree, logdir):
	"""scripts/checkpatch.pl --strict; findings not in EXCEPTIONS fail."""
	logfile = Path(logdir) / f'checkpatch-{patch.stem}.log'
	# Debian's python3 first: spdxcheck.py needs its python3-ply and python3-git.
	path = '/usr/bin:' + os.environ.get('PATH', '')
	proc = run([tree / 'scripts' / 'checkpatch.pl', '--strict', '--terse', '--show-types',
		    '--no-summary', patch.resolve()], cwd=tree, check=False, env={'PATH': path})
	out = (proc.stdout + proc.stderr).decode(errors='replace')
	logfile.parent.mkdir(parents=True, exist_ok=True)
	logfile.write_text(out)
	accepted = exceptions()
	findings = []
	for line in out.splitlines():
		m = re.search(r'(ERROR|WARNING|CHECK):([A-Z_0-9]+):', line)
		if m and (patch.name, m.group(2)) not in accepted:
			findings.append(line)
	expect(not findings, f'{len(findings)} checkpatch finding(s):\n     ' +
	       '\n     '.join(findings[:10]), logfile)


def patches():
	return source.series_files()
