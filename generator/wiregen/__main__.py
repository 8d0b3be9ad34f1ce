"""`python -m wiregen` runs the protoc plugin."""

from wiregen.plugin import main

if __name__ == "__main__":
    main()
