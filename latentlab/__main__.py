"""``python -m latentlab`` runs the command-line interface."""

from latentlab.cli import main

if __name__ == "__main__":
    main()
