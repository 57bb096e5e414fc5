# Français : refus adressés à l'utilisateur (vouvoiement) et phrases du journal
# d'audit. Typographie : espace insécable (U+00A0) avant « : » et à l'intérieur des
# guillemets, espace fine insécable (U+202F) avant « ; », « ! » et « ? ».
#
# Mêmes identifiants et mêmes arguments que `en.ftl` (`tests/messages.rs` le
# vérifie), à ceci près qu'une méthode s'écrit `$method_start` en tête de phrase et
# `$method` ailleurs, selon la place que lui donne chaque langue : les deux sont
# toujours fournis. Les dates arrivent déjà écrites en français (« 1er juillet 2025 à 9 h 30
# UTC ») ; dans les événements, méthodes et rôles arrivent déjà en mots (messages
# `method-*` et `role-*` ci-dessous), motifs et modes sous leur identifiant stable ;
# dans les refus, motifs, rôles et fins de session arrivent sous leur identifiant
# stable, que les sélecteurs transforment en mots.

## Refus : ce que l'utilisateur lit quand une demande est refusée.

refusal-wrong_code = Ce code n’est pas correct. Vérifiez-le et réessayez ({ $attempts_left ->
        [one] { $attempts_left } essai restant
       *[other] { $attempts_left } essais restants
    }).
refusal-code_reused = Ce code a déjà été utilisé : chaque code ne sert qu’une fois. Saisissez-en un nouveau ({ $attempts_left ->
        [one] { $attempts_left } essai restant
       *[other] { $attempts_left } essais restants
    }).
refusal-malformed = Ce n’est pas un code. Saisissez le code exactement tel qu’il s’affiche.
refusal-code_expired = Ce code a expiré. Demandez-en un nouveau.
refusal-no_code_pending = Aucun code n’attend d’être saisi. Demandez-en un nouveau.
refusal-locked_out = Trop de codes erronés. Réessayez après le { $until }.
refusal-disabled = Trop de codes erronés : la validation en deux étapes est bloquée pour ce compte. Demandez à votre administrateur de la réinitialiser.
refusal-method_not_allowed = Votre organisation n’autorise pas ce moyen de connexion. Choisissez-en un autre.
refusal-fresh_proof_required = Pour votre sécurité, confirmez votre identité : saisissez de nouveau un code, puis réessayez.
refusal-address_not_allowed = La connexion n’est pas autorisée depuis ce réseau. Contactez votre administrateur.
refusal-not_enrolled = La validation en deux étapes n’est pas configurée pour ce compte. Configurez-la d’abord, ou adressez-vous à votre administrateur.
refusal-invalid_key = Cette clé ne peut pas être utilisée : indiquez le lien otpauth:// ou la clé en lettres A-Z et chiffres 2-7, d’au moins 26 caractères.
refusal-already_enrolled = Une application d’authentification est déjà configurée. Configurez plutôt la nouvelle avec des codes de l’application.
refusal-too_many_authenticators = Vous avez atteint le nombre maximal d’applications d’authentification. Supprimez-en une avant d’en ajouter une autre.
refusal-invalid_name = Donnez à l’application d’authentification un nom de 1 à 64 caractères, par exemple « Téléphone pro ».
refusal-no_pending_enrollment = Aucune configuration d’application d’authentification n’est en cours. Recommencez.
refusal-enrollment_expired = La configuration de l’application d’authentification a expiré. Recommencez.
refusal-same_code_twice = Saisissez deux codes différents : attendez que l’application affiche le suivant.
refusal-not_consecutive = Les deux codes doivent se suivre. Saisissez le code affiché maintenant, puis le suivant.
refusal-two_codes_required = Saisissez deux codes consécutifs de l’application.
refusal-enrollment_discarded = Trop de codes erronés : la configuration a été annulée. Recommencez.
refusal-confirmation_required = Confirmez que vous voulez désactiver la validation en deux étapes.
refusal-forbidden = { $reason ->
        [jurisdiction_rule] La validation en deux étapes ne peut pas être désactivée pour les systèmes reliés à des données fiscales en Australie et en Nouvelle-Zélande.
        [compliance_preset] La validation en deux étapes ne peut pas être désactivée avec vos paramètres de conformité.
        [level_mandatory] La validation en deux étapes est obligatoire dans votre organisation et ne peut pas être désactivée.
        [org_enforced] La validation en deux étapes est obligatoire dans votre organisation et ne peut pas être désactivée.
        [single_sign_on] Vous vous connectez par l’authentification unique de votre organisation, qui gère la validation en deux étapes : elle ne peut pas être configurée ici.
       *[other] Votre organisation n’autorise pas la désactivation de la validation en deux étapes.
    }
refusal-last_factor = C’est votre dernier moyen de confirmer votre identité. Pour ne plus utiliser la validation en deux étapes, désactivez-la plutôt.
refusal-same_as_primary = Le numéro de téléphone ou l’adresse de secours doit être différent du numéro ou de l’adresse principal.
refusal-no_destination = { $role ->
        [backup] Aucun numéro de téléphone ni aucune adresse e-mail de secours n’est configuré. Ajoutez-en un, ou utilisez un autre moyen.
       *[primary] Aucun numéro de téléphone ni aucune adresse e-mail n’est configuré pour recevoir des codes. Ajoutez-en un, ou utilisez un autre moyen.
    }
refusal-rate_limited = Un code a été envoyé récemment. Patientez un instant avant d’en demander un autre : redemandez-en un après le { $retry_at }.
refusal-remember_disabled = Cet appareil ne peut pas être mémorisé : votre organisation ne l’autorise pas.
refusal-reason_required = Indiquez le motif de la réinitialisation.
refusal-self_reset = Vous ne pouvez pas réinitialiser votre propre validation en deux étapes. Adressez-vous à un autre administrateur.
refusal-actor_without_mfa = Configurez d’abord la validation en deux étapes pour votre propre compte.
refusal-not_permitted = Vous n’avez pas l’autorisation de faire ceci. Demandez-le à un administrateur qui l’a.
refusal-invalid_settings = Les paramètres n’ont pas été modifiés : { $detail }.
refusal-session_ended = { $end ->
        [account_changed] Les paramètres de connexion de votre compte ont changé, votre session a donc été fermée. Reconnectez-vous.
        [lifetime_reached] Pour votre sécurité, reconnectez-vous : votre session a atteint sa durée maximale.
        [inactive] Votre session a été fermée après une période d’inactivité. Reconnectez-vous.
        [signed_out] Vous vous êtes déconnecté. Reconnectez-vous.
       *[clock_behind] Votre session n’a pas pu être vérifiée. Reconnectez-vous.
    }
refusal-key_rejected = La réponse de votre clé de sécurité n’a pas été acceptée. Réessayez avec une clé enregistrée sur ce compte ({ $attempts_left ->
        [one] { $attempts_left } essai restant
       *[other] { $attempts_left } essais restants
    }).
refusal-key_response_malformed = La réponse de la clé de sécurité transmise par votre navigateur est illisible. Réessayez avec la clé.
refusal-key_not_registered = La réponse de votre clé de sécurité n’a pas été acceptée : la clé n’a pas été ajoutée. Réessayez.
refusal-no_ceremony_pending = Aucune demande de clé de sécurité n’est en attente. Recommencez.
refusal-ceremony_expired = La demande de clé de sécurité a expiré. Recommencez.
refusal-key_already_registered = Cette clé de sécurité est déjà enregistrée sur votre compte.
refusal-phishing_resistant_required = Votre organisation exige une clé de sécurité ou une clé d’accès pour votre compte : utilisez-la à la place d’un code.
refusal-account_frozen = Les modifications de votre validation en deux étapes sont gelées, car vous avez signalé une modification que vous n’aviez pas faite. Demandez à votre administrateur de la réinitialiser.
refusal-disown_link_invalid = Ce lien n’est pas valide. Utilisez le lien du message tel quel.
refusal-disown_link_used = Ce lien a déjà été utilisé : les modifications de votre compte sont gelées jusqu’à ce que votre administrateur les réinitialise.
refusal-disown_link_expired = Ce lien a expiré. Contactez votre administrateur.

## Événements d'audit : une phrase par événement, pour le journal d'un administrateur.

event-enrollment_started = Début de la configuration d’une application d’authentification (ouverte jusqu’au { $expires_at }).
event-enrollment_confirmed = { $replaced ->
        [true] Nouvelle application d’authentification configurée, en remplacement des anciennes.
       *[false] Application d’authentification configurée.
    }
event-authenticator_imported = Un authentificateur a été importé d’un autre système.
event-secrets_resealed = { $count ->
        [one] { $count } secret rechiffré
       *[other] { $count } secrets rechiffrés
    } avec la clé « { $key_id } ».
event-authenticator_removed = Authentificateur « { $name } » supprimé.
event-security_key_registered = { $discoverable ->
        [true] Clé d’accès
       *[false] Clé de sécurité
    } « { $name } » enregistrée.
event-security_key_removed = Clé de sécurité « { $name } » supprimée.
event-notice_disowned = { $revoked_count ->
        [0] L’utilisateur a signalé que la modification de l’événement { $event_id } n’était pas de son fait : modifications de la MFA gelées, appareils et sessions fermés.
       *[other] L’utilisateur a signalé que la modification de l’événement { $event_id } n’était pas de son fait : révoqué { $revoked } ; modifications de la MFA gelées, appareils et sessions fermés.
    }
event-disown_refused = Un lien « ce n’était pas moi » a été refusé ({ $refusal }).
event-authenticator_renamed = Un authentificateur a été renommé en « { $name } ».
event-security_key_counter_regressed = La clé de sécurité { $authenticator } a présenté le compteur de signature { $presented }, qui ne dépasse pas { $stored } : elle est peut-être clonée ({ $accepted ->
        [true] acceptée selon la politique
       *[false] refusée
    }).
event-enrollment_rejected = Un code de configuration d’authentificateur a été refusé ({ $reason }).
event-enrollment_expired = Une configuration d’authentificateur a expiré avant d’être confirmée.
event-enrollment_refused = La configuration d’un authentificateur a été refusée ({ $refusal }).
event-code_accepted = { $drift ->
        [none] Connexion avec { $method }.
       *[other] Connexion avec { $method } (horloge de l’application décalée de { $drift } pas).
    }
event-code_rejected = Tentative refusée avec { $method } ({ $reason }) ; { $consecutive_failures ->
        [one] { $consecutive_failures } échec consécutif
       *[other] { $consecutive_failures } échecs consécutifs
    }.
event-resynchronised = L’application d’authentification a été resynchronisée ({ $drift } pas).
event-lockout_started = Verrouillage après trop de codes erronés, jusqu’au { $until }.
event-lockout_ended = Le verrouillage a pris fin.
event-second_factor_disabled = La validation en deux étapes a été bloquée après { $failures } échecs sans succès, jusqu’à sa réinitialisation par un administrateur.
event-deactivated = Validation en deux étapes désactivée.
event-deactivation_refused = La désactivation de la validation en deux étapes a été refusée ({ $reason }).
event-reset_by_admin = Un administrateur a réinitialisé la validation en deux étapes (« { $reason } ») ; effacé : { $cleared } ; { $mode ->
        [turn_off] la validation en deux étapes est désactivée
       *[other] l’utilisateur la configurera de nouveau à la prochaine connexion
    }.
event-recovery_codes_generated = { $count ->
        [one] { $count } nouveau code de secours généré.
       *[other] { $count } nouveaux codes de secours générés.
    }
event-recovery_codes_low = { $remaining ->
        [one] Il ne reste qu’un code de secours.
       *[other] Il ne reste que { $remaining } codes de secours.
    }
event-recovery_codes_exhausted = Tous les codes de secours ont été utilisés.
event-recovery_codes_replacement_due = Un code de secours a été utilisé ; le jeu devrait être remplacé (il en reste { $remaining }).
event-backup_code_reserved = Préparation d’{ $method } pour { $to }.
event-backup_code_sent = Envoi d’{ $method } à { $to }.
event-backup_code_discarded = Abandon d’{ $method } après trop d’essais erronés.
event-backup_code_not_sent = Échec de l’envoi d’{ $method } : le code a été repris.
event-backup_code_lapsed = Un code pour la destination { $role } a expiré : son envoi n’a jamais été confirmé.
event-backup_destination_added = Ajout de { $to } comme destination { $role } (à confirmer).
event-backup_destination_confirmed = Confirmation de { $to } comme destination { $role }.
event-backup_destination_removed = Suppression de la destination { $role }.
event-backup_destination_withdrawn = Retrait de la destination { $role }, jamais confirmée.
event-device_remembered = Appareil « { $label } » mémorisé jusqu’au { $expires_at }.
event-device_accepted = Connexion sur un appareil mémorisé.
event-devices_revoked = { $count ->
        [one] { $count } appareil mémorisé oublié
       *[other] { $count } appareils mémorisés oubliés
    } ({ $reason }).
event-org_settings_changed = { $count ->
        [0] Les paramètres MFA de { $org } ont été enregistrés sans changement.
       *[other] Paramètres MFA de { $org } modifiés : { $changes }.
    }
event-org_settings_change_refused = Une modification des paramètres MFA de { $org } a été refusée ({ $reason }).
event-password_changed = Le mot de passe a été changé ; les autres sessions ont été fermées.
event-reset_refused = Une réinitialisation a été refusée ({ $reason }).
event-host_action_allowed = « { $action } » a été autorisé après une preuve récente du second facteur.
event-host_action_refused = « { $action } » a été refusé ({ $refusal }).
event-sign_in_refused = Une connexion a été refusée ({ $reason }).
event-refusals_summarised = { $refused ->
        [one] { $refused } autre tentative refusée depuis le { $since }.
       *[other] { $refused } autres tentatives refusées depuis le { $since }.
    }
event-audit_pruned = { $deleted ->
        [one] { $deleted } événement d’audit antérieur au { $before } a été supprimé.
       *[other] { $deleted } événements d’audit antérieurs au { $before } ont été supprimés.
    }
event-future_dated_voided = Des entrées écrites par une horloge en avance ont été annulées le { $reading } : { $voided }.

## Parties des messages d'audit.

# Une méthode dans la phrase d'un événement (`$method`). Chacune commence par « un »
# ou « une » : les messages écrivent « d’{ $method } ».
method-totp = un code d’application d’authentification
method-sms = un code par SMS
method-email = un code par e-mail
method-recovery_code = un code de secours
method-security_key = une clé de sécurité
# Le rôle d'une destination dans la phrase d'un événement (`$role`).
role-primary = principale
role-backup = de secours

# Un paramètre modifié, dans `$changes` de `event-org_settings_changed`.
setting-change = { $setting } de { $from } à { $to }
# Ce qui sépare deux paramètres modifiés.
setting-change-separator = { "\u202F; " }

# Une ligne d'audit entière : quand, quel compte, qui a agi si c'est un autre, d'où.
event-line = { $at }, { $user } : { $what }
event-line-by = { $at }, { $user } (par { $actor }) : { $what }
event-line-from = { $at }, { $user } depuis { $address } : { $what }
event-line-by-from = { $at }, { $user } (par { $actor }) depuis { $address } : { $what }
