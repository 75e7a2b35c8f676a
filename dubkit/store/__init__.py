"""What lives on disk: content hashes, atomic writes, the run lock, the stage cache, the home folder."""
