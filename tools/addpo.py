"""Append entries to both gettext catalogs, safely from several processes.

Usage: python tools/addpo.py < entries.py   where entries.py holds lines like
    t("admin.help.title", "Commandes de coordination :", "Coordination commands:")
French gets a no-break space before : ; ! ? » (except words.* keys).
Existing keys are skipped, never rewritten.
"""

import fcntl
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FR: dict[str, str] = {}
EN: dict[str, str] = {}


def t(k: str, fr: str, en: str) -> None:
    FR[k] = fr
    EN[k] = en


exec(sys.stdin.read())


def fr_typo(s: str) -> str:
    s = re.sub(r" ([:;!?»])", "\u00a0\\1", s)
    return s.replace("« ", "«\u00a0")


def esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


with open(ROOT / "dialogs/kernel/locale/.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    for lang, entries in (("fr", FR), ("en", EN)):
        path = ROOT / f"dialogs/kernel/locale/{lang}/LC_MESSAGES/aiguillage.po"
        existing = path.read_text()
        out = []
        for k, v in entries.items():
            if f'msgid "{esc(k)}"\n' in existing:
                print("exists, skipped:", k)
                continue
            if lang == "fr" and not k.startswith("words."):
                v = fr_typo(v)
            out.append(f'msgid "{esc(k)}"\nmsgstr "{esc(v)}"\n')
        if out:
            with path.open("a") as f:
                f.write("\n" + "\n".join(out))
print("added", len(FR))
