# SPDX-License-Identifier: GPL-2.0
"""What the series costs in vmlinux: `size` (text, data, bss) of the x86_64
guest without test code, with CONFIG_PANIC_HOOKS=n (no slot user built)
and =y (pvpanic built in), at base, after the fixes of 6.12 bugs, after
the pre-kdump hooks part of the series, and with the whole series (the
halt added). vmlinux totals move in steps of its section alignment (a
page of .data appears for a few bytes), so each part is also given as the
sum over the objects the series touches: the figure the =y target is
judged on (under 1 KiB). With =n, vmlinux itself must not change. Last,
where the =y bytes go: kernel/panic_hooks.o without each part the issues
asked for beyond the mechanism (size_parts)."""

import re
from dataclasses import dataclass
from pathlib import Path

from . import lint, size_parts, source
from .common import output
from .context import Context, Unavailable

STAGES = ('base', 'fixes', 'hooks', 'series')
PARTS = (('fixes', 'base', 'fixes of 6.12 bugs (patches 1-5)'),
	 ('hooks', 'fixes', 'pre-kdump hooks (up to the kdump documentation)'),
	 ('series', 'hooks', 'halt of the panicked CPU (the rest)'))
Y_BUDGET = 1024


@dataclass
class Size:
	text: int
	data: int
	bss: int

	@property
	def total(self) -> int:
		return self.text + self.data + self.bss

	def __add__(self, other: 'Size') -> 'Size':
		return Size(self.text + other.text, self.data + other.data, self.bss + other.bss)

	def __sub__(self, other: 'Size') -> 'Size':
		return Size(self.text - other.text, self.data - other.data, self.bss - other.bss)


ZERO = Size(0, 0, 0)


# Sections of an object that every vmlinux link throws away (DISCARDS in
# vmlinux.lds.h; .exit.text is kept by x86): size(1) of the object counts
# them, vmlinux never holds them.
DISCARDED = ('.discard', '.export_symbol', '.modinfo', '.exitcall.exit', '.gnu.version')
_SECTION = re.compile(r'^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)'
		      r'\s+[0-9a-f]+\s+([A-Za-z]*)\s+\d+\s+\d+\s+\d+\s*$')


def of(path: Path, absent_is_zero: bool = False) -> Size:
	"""size(1) of an ELF file (Berkeley format); of an object, without the
	sections vmlinux discards. An object the series adds does not exist
	before it: absent_is_zero; a missing vmlinux is an error."""
	if absent_is_zero and not path.exists():
		return ZERO
	if path.suffix == '.o':
		return sections(output(['readelf', '-SW', path]))
	fields = output(['size', '-B', path]).splitlines()[1].split()
	return Size(int(fields[0]), int(fields[1]), int(fields[2]))


def sections(readelf: str) -> Size:
	"""Berkeley text, data and bss from readelf -SW's section headers:
	allocated and read-only (code included), allocated and writable with
	contents, allocated without; sections vmlinux discards left out."""
	text = data = bss = 0
	for line in readelf.splitlines():
		m = _SECTION.match(line)
		if not m or 'A' not in m.group(4) or m.group(1).startswith(DISCARDED):
			continue
		n = int(m.group(3), 16)
		if m.group(2) == 'NOBITS':
			bss += n
		elif 'W' in m.group(4):
			data += n
		else:
			text += n
	return Size(text, data, bss)


def _fmt(s: Size, signed: bool = False) -> str:
	f = '+8d' if signed else '8d'
	return f'{s.text:{f}} {s.data:{f}} {s.bss:{f}} {s.total:{f}}'


def run(ctx: Context) -> bool:
	"""Print the size table; True when both targets are met."""
	built = {}
	for config in ('n', 'y'):
		for stage in STAGES:
			name = f'size-{config}-{stage}'
			try:
				built[(config, stage)] = ctx.kernel(name)
			except Unavailable as e:
				print(f'{name}: {e}')
				return False
	objects = lint.touched_objects(built[('y', 'series')], source.BUILD_TREE)
	hooks_y: dict[str, Size] = {}
	ok = True
	print(f'\nx86_64 guest without test code (bytes){"":29}text     data      bss    total')
	for config in ('n', 'y'):
		print(f'CONFIG_PANIC_HOOKS={config}')
		base = of(built[(config, 'base')].vmlinux)
		print(f'  vmlinux of 6.12 (base){"":42}{_fmt(base)}')
		deltas, wholes = {}, {}
		for stage, before, what in PARTS:
			whole = of(built[(config, stage)].vmlinux) - of(built[(config, before)].vmlinux)
			changed = [(o, of(built[(config, stage)].out / o, True) -
				    of(built[(config, before)].out / o, True)) for o in objects]
			changed = [(o, d) for o, d in changed if d.total]
			summed = sum((d for _, d in changed), ZERO)
			deltas[stage], wholes[stage] = summed, whole
			if (config, stage) == ('y', 'hooks'):
				hooks_y = dict(changed)
			print(f'  {what}')
			print(f'    vmlinux{"":57}{_fmt(whole, True)}')
			print(f'    the objects it touches{"":42}{_fmt(summed, True)}')
			for obj, d in changed:
				print(f'      {obj:58}{_fmt(d, True)}')
		hooks = deltas['hooks'].total
		if config == 'n':
			# The measure: vmlinux. The objects may differ by a
			# few bytes of the compiler's block layout in panic().
			verdict = wholes['hooks'] == ZERO
			print(f'  target: vmlinux unchanged by the hooks with =n: '
			      f'{"met" if verdict else "NOT MET"} (objects: {hooks:+d} bytes)')
		else:
			verdict = hooks < Y_BUDGET
			print(f'  target: the hooks add under {Y_BUDGET} bytes with =y: '
			      f'{"met" if verdict else f"NOT MET ({hooks} bytes)"}')
		ok = ok and verdict
	return parts(ctx, hooks_y) and ok


def parts(ctx: Context, hooks: dict[str, Size]) -> bool:
	"""Print what each part of kernel/panic_hooks.o costs (size_parts),
	and what the hooks would add with none of them: the =y figure
	without the parts, against the target. False when a part no longer
	matches the source."""
	obj = size_parts.OBJECT
	elsewhere = sum((d.total for o, d in hooks.items() if o != obj), 0)
	try:
		sizes = size_parts.measure(ctx, 'size-y-hooks', lambda p: of(p).total)
	except size_parts.Mismatch as e:
		print(f'{obj} part by part: {e}')
		return False
	whole = sizes[0][1]
	if whole != hooks.get(obj, ZERO).total:
		print(f'{obj} part by part: built again as it is, {whole} bytes, not the '
		      f'{hooks.get(obj, ZERO).total} of the table: the figures would not be comparable')
		return False
	print(f'\n{obj} at the hooks tip, compiled again without each part (bytes, total)')
	for what, n in sizes:
		print(f'  {what:66}{n:8d}' + (f' {n - whole:+6d}' if n != whole else ''))
	least = sizes[-1][1] + elsewhere
	print(f'  with none of them, the hooks would add {sizes[-1][1]} + {elsewhere} in the other '
	      f'objects = {least} bytes: {"under" if least < Y_BUDGET else "over"} {Y_BUDGET}')
	return True
