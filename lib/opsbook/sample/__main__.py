"""``python -m opsbook.sample OUT [--users N] [--days N] [--seed N] [--end DATE]``."""

from opsbook.sample.generate import main

if __name__ == "__main__":
    main()
