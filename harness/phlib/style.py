# SPDX-License-Identifier: GPL-2.0
"""Checks on the patch files themselves: form (subject, identity,
sign-off, message, recipients, Fixes:), checkpatch.pl --strict, and
kernel-doc on the files the series touches."""

import os
import re
from collections import Counter
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import common, parsers, source
from .common import output, run
from .report import CheckFailed, expect

EXCEPTIONS = common.ROOT / 'harness' / 'checkpatch-exceptions.txt'
SIGNOFF = f'{common.IDENTITY_NAME} <{common.IDENTITY_EMAIL}>'


@dataclass(frozen=True)
class Accepted:
	"""An accepted checkpatch finding: exactly this message of this type in
	this patch, with the reason it stays."""
	patch: str
	type: str
	message: str
	reason: str


def exceptions(path: Optional[Path] = None) -> list[Accepted]:
	"""'patch | TYPE | message | reason' lines of path (the harness's
	exceptions file by default); a line without a reason is an error."""
	path = path or EXCEPTIONS
	accepted: list[Accepted] = []
	if not path.exists():
		return accepted
	for line in path.read_text().splitlines():
		if not line.strip() or line.startswith("#"):
			continue
		parts = [p.strip() for p in line.split(' | ')]
		if len(parts) != 4 or not all(parts):
			raise CheckFailed(f'{path}: "{line}" is not "patch | TYPE | message | reason"')
		accepted.append(Accepted(*parts))
	return accepted


def check_form(patch: Path) -> str:
	"""Subject prefix, project identity and sign-off, a message that
	explains the change, recipients, and well-formed Fixes: tags."""
	try:
		p = parsers.patch(patch.read_text())
	except parsers.ParseError as e:
		raise CheckFailed(f'{patch.name}: {e}') from e
	expect(SIGNOFF in p.author, f'{patch.name}: author is not the project identity')
	expect(SIGNOFF in p.tag('Signed-off-by'), f'{patch.name}: no "Signed-off-by: {SIGNOFF}"')
	body = [ln for ln in p.message.splitlines() if ln.strip() and not parsers._TAG.match(ln)]
	expect(len(body) >= 3, f'{patch.name}: the commit message does not explain the change')
	expect(p.to, f'{patch.name}: no To: recipients (harness/ph export adds them)')
	for value in p.tag('Fixes'):
		try:
			parsers.fixes(value)
		except parsers.ParseError as e:
			raise CheckFailed(f'{patch.name}: {e}') from e
	return f'{p.prefix}: {len(p.to)} To, {len(p.cc)} Cc'


def check_cover(cover: Path) -> None:
	text = cover.read_text()
	expect('*** SUBJECT HERE ***' not in text and '*** BLURB HERE ***' not in text,
	       'the cover letter still has format-patch placeholders')
	expect('Changes since v1' in text, 'the cover letter has no changelog from v1')
	blanks = sorted(set(re.findall(r'@@[A-Z]+@@', text)))
	expect(not blanks, f'the cover letter still has blanks to fill: {", ".join(blanks)}')
	expect('Range-diff against v1' in text, 'the cover letter has no range-diff against v1')


def fixes_first(patches: list[tuple[Path, parsers.Patch]], tree: Path) -> str:
	"""Patches with a Fixes: tag come first, and each applies to base on
	its own: the bug it fixes is in the unpatched tree."""
	seen_feature = None
	fixes = []
	for path, p in patches:
		if p.tag('Fixes'):
			expect(not seen_feature, f'{path.name} fixes a bug of 6.12 but comes after '
			       f'{seen_feature}, which does not')
			try:
				source.series_tree(tree, [path])
			except source.PatchFailed as e:
				raise CheckFailed(f'{path.name} does not apply to base on its own: {e}') from e
			fixes.append(path.name)
		else:
			seen_feature = seen_feature or path.name
	expect(fixes, 'no patch has a Fixes: tag (the 6.12 bugs the series found are fixed first)')
	return f'{len(fixes)} fixes first, each applies to base alone'


def checkpatch_findings(patch: Path, tree: Path, logdir: Path) -> parsers.Checkpatch:
	logfile = logdir / f'checkpatch-{patch.stem}.log'
	# Debian's python3 first: spdxcheck.py needs its python3-ply and python3-git.
	path = '/usr/bin:' + os.environ.get('PATH', '')
	proc = run([tree / 'scripts' / 'checkpatch.pl', '--strict', '--show-types',
		    patch.resolve()], cwd=tree, check=False, env={'PATH': path})
	out = (proc.stdout + proc.stderr).decode(errors='replace')
	logfile.parent.mkdir(parents=True, exist_ok=True)
	logfile.write_text(out)
	result = parsers.checkpatch(out)
	expect(result.completed, f'checkpatch.pl did not finish (exit {proc.returncode}): '
	       f'{out.strip().splitlines()[-1] if out.strip() else "no output"}', logfile)
	return result


def unaccepted(patch: str, result: parsers.Checkpatch, accepted: list[Accepted]) -> list[str]:
	"""Findings no exception accepts; each exception line accepts one
	finding, so a second occurrence of the same message needs a line of
	its own."""
	left = Counter((e.type, e.message) for e in accepted if e.patch == patch)
	bad = []
	for level, kind, text in result.findings:
		if left[(kind, text)]:
			left[(kind, text)] -= 1
		else:
			bad.append(f'{level}:{kind}: {text}')
	return bad


def checkpatch(patch: Path, tree: Path, logdir: Path) -> str:
	"""scripts/checkpatch.pl --strict; every finding must be accepted, by
	patch, type and exact message, in harness/checkpatch-exceptions.txt."""
	result = checkpatch_findings(patch, tree, logdir)
	bad = unaccepted(patch.name, result, exceptions())
	expect(not bad, f'{len(bad)} checkpatch finding(s):\n     ' + '\n     '.join(bad[:10]),
	       logdir / f'checkpatch-{patch.stem}.log')
	return f'{len(result.findings)} finding(s), all accepted' if result.findings else ''


def stale_exceptions(patches: list[Path], tree: Path, logdir: Path) -> None:
	"""Every exception line still accepts a finding: one line per finding,
	so two lines of one message need two findings of it. The checkpatch
	logs of this run are read; a log older than its patch (or none) means
	checkpatch runs again here."""
	stale = []
	for p in patches:
		log = logdir / f'checkpatch-{p.stem}.log'
		if log.exists() and log.stat().st_mtime >= p.stat().st_mtime:
			findings = parsers.checkpatch(log.read_text()).findings
		else:
			findings = checkpatch_findings(p, tree, logdir).findings
		found = Counter((k, t) for _, k, t in findings)
		lines = Counter((e.type, e.message) for e in exceptions() if e.patch == p.name)
		stale += [f'{p.name} {kind}: {text}' + (f' ({n - found[(kind, text)]} of {n} lines)'
							  if n > 1 else '')
			  for (kind, text), n in lines.items() if n > found[(kind, text)]]
	known = {p.name for p in patches}
	stale += [f'{e.patch} {e.type}: {e.message} (no such patch)' for e in exceptions()
		  if e.patch not in known]
	expect(not stale, 'exceptions that accept no finding:\n     ' + '\n     '.join(stale))


CANARY = '/**\n * canary() - a comment kernel-doc must complain about\n * @x: no such parameter\n */\n' \
	'int canary(int y);\n'


def _kernel_doc(tree: Path, files: list[str], cwd: Path) -> str:
	with tempfile.TemporaryDirectory() as tmp:
		canary = Path(tmp) / 'canary.c'
		canary.write_text(CANARY)
		proc = run([tree / 'scripts/kernel-doc', '-none', '-Wall', canary] + files, cwd=cwd,
			   check=False)
	text = (proc.stdout + proc.stderr).decode(errors='replace')
	expect('canary.c' in text and "'y' not described" in text,
	       f'kernel-doc did not flag its canary (exit {proc.returncode}): it did not run')
	errors = [ln for ln in text.splitlines() if ln.startswith('Error')]
	expect(not errors, 'kernel-doc: ' + '; '.join(errors))
	return '\n'.join(ln for ln in text.splitlines() if 'canary.c' not in ln)


def kernel_doc(tree: Path) -> str:
	"""scripts/kernel-doc -none -Wall on the touched C files: no warning the
	same files lack at base, counted per message."""
	names = output(['git', '-C', tree, 'diff', '--name-only', '--diff-filter=AM', 'base..HEAD'])
	files = [n for n in names.splitlines() if n.endswith(('.c', '.h'))]
	now = parsers.findings(_kernel_doc(tree, files, tree))
	with tempfile.TemporaryDirectory() as tmp:
		existing = [f for f in files
			    if run(['git', '-C', tree, 'cat-file', '-e', f'base:{f}'], check=False).returncode == 0]
		for f in existing:
			dest = Path(tmp) / f
			dest.parent.mkdir(parents=True, exist_ok=True)
			dest.write_bytes(run(['git', '-C', tree, 'show', f'base:{f}']).stdout)
		before = parsers.findings(_kernel_doc(tree, existing, Path(tmp))) if existing else None
	new = parsers.new_findings(now, before or Counter())
	logfile = common.LOGS / 'kernel-doc.log'
	logfile.write_text('\n'.join(new) + '\n')
	expect(not new, f'{len(new)} new kernel-doc warning(s):\n     ' + '\n     '.join(new[:10]),
	       logfile)
	return f'{len(files)} files, no new warning'
