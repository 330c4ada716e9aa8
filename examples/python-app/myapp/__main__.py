"""python3 -m myapp login PIN: what the application's login screen does.

Prints one line for the user and exits 0 (signed), 2 (wrong PIN), 3 (PIN blocked),
4 (no card / card removed), 5 (any other card error).
"""

import sys

from . import jpki


def main(argv):
    if len(argv) != 2 or argv[0] != "login":
        print(__doc__, file=sys.stderr)
        return 64
    try:
        card = jpki.Card()
        try:
            if card.tries_left() == 0:
                print("Your PIN is blocked. Ask your municipality to reset it.")
                return 3
            signature = card.sign(argv[1], b"login challenge")
        finally:
            card.close()
    except jpki.WrongPin as e:
        print(f"Wrong PIN: {e.tries_left} tries left.")
        return 2
    except jpki.PinBlocked:
        print("Your PIN is blocked. Ask your municipality to reset it.")
        return 3
    except jpki.NoCard:
        print("The card was removed. Put it back and try again.")
        return 4
    except jpki.CardError as e:
        print(f"The card refused: {e}")
        return 5
    print(f"Logged in ({len(signature)}-byte signature).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
