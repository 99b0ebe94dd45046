"""The SPDX id of a clone's license, read from its license file at HEAD."""

from __future__ import annotations

import git

LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING", "LICENCE", "license",
                 "license.md", "license.txt", "LICENSE.rst")
LICENSE_MARKERS = (
    ("Apache License", "Apache-2.0"),
    ("GNU AFFERO GENERAL PUBLIC LICENSE", "AGPL-3.0"),
    ("GNU LESSER GENERAL PUBLIC LICENSE", "LGPL-3.0"),
    ("GNU GENERAL PUBLIC LICENSE", "GPL-3.0"),
    ("Mozilla Public License", "MPL-2.0"),
    ("Permission is hereby granted, free of charge", "MIT"),
    ("Redistribution and use in source and binary forms", "BSD-3-Clause"),
    ("This is free and unencumbered software", "Unlicense"),
)


def detect_license(repo: git.Repo) -> str:
    """SPDX id of the license file at HEAD, "" when there is none or it is not recognised."""
    try:
        tree = repo.head.commit.tree
    except ValueError:
        return ""
    for name in LICENSE_FILES:
        try:
            text = (tree / name).data_stream.read(8192).decode("utf-8", "replace")
        except KeyError:
            continue
        for marker, spdx in LICENSE_MARKERS:
            if marker.lower() in text.lower():
                if spdx == "BSD-3-Clause" and "neither the name" not in text.lower():
                    return "BSD-2-Clause"
                return spdx
        return "NOASSERTION"
    return ""
