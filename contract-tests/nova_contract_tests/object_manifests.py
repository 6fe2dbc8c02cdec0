"""The object fingerprints of every released virt API version, as this kit saw them.

A snapshot, deliberately copied rather than imported from nova-common: the kit
checks that the nova-common a driver runs with still has these exact objects
at these versions. An object changed without a version bump (a field added to
InstanceInfo 1.0, say) fails the run, naming the object. ``tests/test_object_manifests.py``
keeps the newest entry equal to nova-common's registry.
"""

#: virt API version -> object name -> "<object version>-<fingerprint>"
RELEASED_FINGERPRINTS: dict[str, dict[str, str]] = {
    "1.0": {
        "ConsoleOutput": "1.0-708fb6f05b644a2a96451e011c9b574c",
        "DriverInfo": "1.0-2c782735c7a24dce844fabf4611e4901",
        "Flavor": "1.0-68d8a91fdc3548b9ff9c8f41f5aca212",
        "HostResources": "1.0-e797c7a31fbf7ae40be1854469ee6416",
        "ImageMeta": "1.0-b8ebd4ab6c0f915256c1edfeea91204b",
        "Instance": "1.0-94a04680434cc2dd639f913d5d381ddf",
        "InstanceInfo": "1.0-cd183e62ac19a8a6c8b10cebb16b81fa",
        "InstanceInfoList": "1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e",
        "LifecycleEvent": "1.0-a1a21ccaa5b3d243401921631adf07f9",
        "NetworkInfo": "1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e",
        "SnapshotInfo": "1.0-0004645cbc879f7011cdb7ff52979713",
        "VIF": "1.0-4be400af81edc54d95228c253b433b2e",
        "VolumeAttachment": "1.0-cdea393b3995b4531493c04583a426ed",
    },
}
