from prsynth.cli import main

main()
