"""How often colleagues sharing the same item get the same suggested post (issue 17).

``python experiments/share_text_variety.py [--seeds 0,1,2] [--employees 500]
[--content 300] [--sharers 50]``: for each seed, the share of identical suggestions among
``sharers`` colleagues per item (protocol: :mod:`training.evaluation.share_text`), in turn
(the CLI's and the service's suggestions) and independent, as JSON lines.
"""

from __future__ import annotations

import argparse
import json

from training.evaluation.share_text import identical_share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--employees", type=int, default=500)
    parser.add_argument("--content", type=int, default=300)
    parser.add_argument("--sharers", type=int, default=50)
    args = parser.parse_args()
    for seed in (int(s) for s in args.seeds.split(",")):
        figures = identical_share(
            employees=args.employees, content=args.content, sharers=args.sharers, seed=seed
        )
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
