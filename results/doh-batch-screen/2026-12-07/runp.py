"""cli.main with env patches: CARRY (steps between carries, whatever the batch), EXTRA (flags appended)."""
import os, sys
from inrzip import cli
if os.environ.get("CARRY"):
    from inrzip.nets import weight_space
    weight_space.carry_every = lambda batch_size: int(os.environ["CARRY"])
sys.exit(cli.main(sys.argv[1:] + os.environ.get("EXTRA", "").split()))
