import Supervisor

Tilectl.main(kinds: Registry.production)
