"""otahub's MQTT device endpoint: the packet layer (codec, packets, properties, topics).

Modules: ``packets`` (the frozen packet dataclasses), ``properties`` (MQTT 5 properties), ``codec``
(``PacketReader``, ``encode``, ``decode``), ``errors`` (``ProtocolError``, ``ReasonCode``) and ``topics``
(topic name and filter rules, ``topic_matches``, shared subscriptions). No I/O anywhere here.
"""
