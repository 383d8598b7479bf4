# SPDX-License-Identifier: GPL-2.0
"""The kernels the harness builds, by name."""

from . import build, common

GUEST = common.CONFIGS / 'x86_64-guest.config'
HOOKS_ON = common.CONFIGS / 'panic-hooks.config'
HOOKS_OFF = common.CONFIGS / 'no-panic-hooks.config'
PVPANIC_MODULES = common.CONFIGS / 'pvpanic-modules.config'
HYPERV_SEV = common.CONFIGS / 'x86_64-hyperv-sev.config'
HYPERV_SEV_MODULES = common.CONFIGS / 'hyperv-sev-modules.config'


def patched(src):
	"""The series with CONFIG_PANIC_HOOKS=y: the product."""
	return build.Kernel('x86_64-patched', common.KERNEL_TREE, [GUEST, HOOKS_ON])


def patched_modules(src):
	"""The product with pvpanic, Hyper-V and the PSP driver as modules."""
	return build.Kernel('x86_64-patched-modules', common.KERNEL_TREE,
			    [GUEST, HOOKS_ON, PVPANIC_MODULES, HYPERV_SEV_MODULES], modules=True)


def hyperv_sev(src):
	"""The product with Hyper-V, the SEV-SNP host and their KUnit test built in."""
	return build.Kernel('x86_64-hyperv-sev', common.KERNEL_TREE, [GUEST, HOOKS_ON, HYPERV_SEV])


def hooks_off(src):
	"""The series with CONFIG_PANIC_HOOKS=n: must behave as stock."""
	return build.Kernel('x86_64-hooks-off', common.KERNEL_TREE, [GUEST, HOOKS_OFF])


def unpatched(src):
	"""Debian's 6.12 as shipped, for side-by-side comparisons."""
	return build.Kernel('x86_64-unpatched', src.pristine, [GUEST])


def bisect(tree):
	"""Incremental builds of each prefix of the series, in their own tree."""
	return build.Kernel('x86_64-bisect', tree, [GUEST, HOOKS_ON], allow_undefined=True)
