"""The failover drill (deploy/drill, docs/deployment.md): Jifen's production shape started
from Debian packages on loopback, under load, through three faults. Not part of the app."""
